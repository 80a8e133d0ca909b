# Cliente do chat - Trabalho 1 de Redes
# Manda "nickname=<apelido>" ao conectar e "mensagem=<texto>" para cada linha digitada.
# Uma thread fica recebendo e imprimindo o que chega; a principal lê o teclado.
# Para sair: Ctrl-D (fim da entrada).
import os
import socket
import threading

HOST = '127.0.0.1'
PORTA = 32713
saindo = threading.Event()  # o usuário saiu: a conexão fechada não é erro


def receber(sock):
    # imprime tudo que o servidor mandar; se a conexão cair, encerra o programa
    while True:
        try:
            dados = sock.recv(1024)
        except OSError:
            if saindo.is_set():
                return
            print('Conexão perdida.')
            os._exit(1)
        if not dados:
            print('Conexão encerrada pelo servidor.')
            os._exit(1)
        print(dados.decode(errors='replace'))


apelido = input('Digite seu apelido: ')
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((HOST, PORTA))
sock.sendall(f'nickname={apelido}'.encode())

threading.Thread(target=receber, args=(sock,), daemon=True).start()

while True:
    try:
        texto = input()
    except EOFError:  # Ctrl-D
        break
    sock.sendall(f'mensagem={texto}'.encode())
saindo.set()
sock.close()
